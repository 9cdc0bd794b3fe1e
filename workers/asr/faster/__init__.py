"""The faster-whisper engine (CTranslate2) in its parts: ``engine`` runs the pipeline that
``layout`` (which audio is decoded together), ``languages`` (told before, checked after),
``packing`` (one stream per language, words put back), ``decoding`` and ``loops`` (a degenerate
decode decoded again) carry out."""

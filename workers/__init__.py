"""Everything that runs outside the web request: Celery tasks (``tasks``),
the pipeline (``ingest``), live capture (``live``), alert mail (``alerts``), the tools they use
(``asr``, ``media``) and the services both faces call (``services``).

``indexing`` is the one way words reach search: it writes the documents and queues the alert
evaluation, so whoever makes words searchable also tells the subscribers.
"""

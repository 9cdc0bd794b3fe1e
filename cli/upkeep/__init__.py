"""``ashyq check``, ``ashyq backup`` and ``ashyq restore``: keeping an archive whole.

A package of its own (one module per command group, as in ``cli``), so the top folder keeps
room under the house's limit of modules per folder.
"""

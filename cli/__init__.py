"""Terminal face: the ``ashyq`` command."""

"""What both faces (CLI and HTTP) call: submit, sources, live control, publishing, editing,
uploads, dumps.
"""

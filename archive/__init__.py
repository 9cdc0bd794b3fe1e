"""The domain every other layer shares: settings, database models, migrations, media storage.

Imports nothing from api, cli, web, workers or search.
"""

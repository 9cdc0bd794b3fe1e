"""What every face reads and no face owns: the visible recordings, the search run and its
cards, quoted ranges, the search parameters, live sessions' gaps. No routes live here; public
pages, media, the JSON API and feeds all stand on it, so none of them imports another.
"""

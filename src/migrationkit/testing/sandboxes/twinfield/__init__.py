"""A stateful sandbox of Twinfield's XML web services (``migrationkit sandbox twinfield``).

:mod:`.office` holds an administration's state and Twinfield's rules (dimensions, VAT codes,
day books, articles, provisional and final transactions, the delete rule); :mod:`.process`
answers ProcessXml documents per element; :mod:`.browse` answers browse data; :mod:`.app`
speaks SOAP per ``processxml.wsdl`` and serves the token, validation and cluster endpoints
with Twinfield's limits.
"""

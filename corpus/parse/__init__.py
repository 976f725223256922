"""Parsing of crawl files (WARC/ARC) and plain-text dumps (JSON lines) into corpus records."""

"""HTML extraction: crawled pages to documents with title, main text and image references."""

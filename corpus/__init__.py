"""Pure corpus logic: parse, extract, clean, filter, dedup and image checks. Never imports Beam or torch."""

"""Classification, curation and rebuild cycle task types the catalog registers."""

"""The data stage: schema validation, gates (length, duplicates, contamination), base-model pairs, report."""

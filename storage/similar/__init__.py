"""Finding initiatives like a new one (issue 12, duplicates): ``text`` folds and hashes, ``index`` is the
in-memory term index, ``store`` keeps it in step with the database, ``search`` suggests."""

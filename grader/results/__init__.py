"""Results on disk: the record of one graded submission and the store."""

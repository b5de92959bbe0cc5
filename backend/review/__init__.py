"""The review office's view: preliminary conclusions (初步结论) from the standard's own rules, and the
discrepancy view (self-assessment against each review stage)."""

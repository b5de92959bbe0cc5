"""Evidence photos over HTTP: tus uploads, the receipt, photo variants and locally signed media URLs."""

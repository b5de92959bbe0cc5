"""fieldcheck backend: the Litestar app that serves the inspection PWA."""

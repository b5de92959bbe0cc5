"""The PWA's files (``pwa_static/``) served by the backend: shell, service worker, manifest, assets."""

"""Evidence media: object storage (local | S3), uploads, image sniffing, EXIF facts, derivatives and the
outbox workers.

Never imports ``backend`` or ``sync``; the backend wires these pieces. Blocking work (Pillow, hashing, file
and boto3 calls) runs in worker threads inside this package, never on the event loop.
"""

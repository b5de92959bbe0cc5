"""Evidence media: object storage (local | S3), image sniffing, EXIF facts and derivatives.

Never imports ``backend``; the backend wires these pieces (and runs the sync image functions in threads).
"""

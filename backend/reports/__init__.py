"""Printable reports: HTML rendered by the server, shown in the app with a print stylesheet and printed to PDF."""

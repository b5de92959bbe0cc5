"""Files built in the background for the office: round exports (CSV, XLSX) and printable reports as PDF."""

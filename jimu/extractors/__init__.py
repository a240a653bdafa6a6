"""Loading scans and PDFs, preprocessing, classification, OCR engines and field readers."""

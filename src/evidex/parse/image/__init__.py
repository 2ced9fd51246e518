"""Images and scans: OCR (RapidOCR / ONNX) into lines with boxes."""

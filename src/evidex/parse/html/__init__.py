"""HTML and XHTML: a DOM tree, block segmentation, hidden/furniture layers, key-values from definition lists and tables."""

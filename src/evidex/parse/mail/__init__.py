"""E-mail (RFC 822 / MIME): headers, bodies and attachments, each mapped to its MIME part."""

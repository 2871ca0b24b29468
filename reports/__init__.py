"""Reports: the XLSX workbook, the progress chart and the invite QR code for officers, and the application for
recognition of an initiative (a Word file) for its author and the support team. Plain data in, bytes out;
no Telegram, no SQL."""

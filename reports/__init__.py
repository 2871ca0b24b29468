"""Reports for officers: the XLSX workbook, the progress chart and the invite QR code. Plain data in, bytes out;
no Telegram, no SQL."""

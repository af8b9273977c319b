"""Stage 4: the model rendered. Print grids from model × profile (tables, summary), HTML through
the Jinja templates (html), the HTML read back for the DOCX (readback), the PDF (pdf, pdf_pieces,
weasy_input), DOCX (docx), XLSX (xlsx) and the fonts. Knows no cache, no process pool, no options:
those wrap it in perfdoc.build."""

"""`import`: last year's Word or Excel document read back into a data folder.

Stages, one module each: a file's XML parts are looked at first (package: no DOCTYPE, nothing
damaged); it becomes paragraphs and grids of cells (docx_reader, xlsx_reader, both bounded: by the
grid a table declares, by the rows and columns a sheet may have; convert for .doc/.wps/.et); the
tables are recognised as a profile's records (recognise, with sentence for the 用途 sentence,
narrative for the department's text); writer turns the records
into YAML files written the way a person writes them (every text through perfdoc.data.yaml_text).
Whatever the importer could not place or had to decide is a Note, reported with the file, table,
row and column, and kept as a YAML comment. importer.import_files returns an ImportResult (the
notes as Diagnostics, what was written and removed); perfdoc.commands prints it and runs the check.
"""

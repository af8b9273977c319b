"""Stage 1–3: the data. YAML files read with positions (loader), the fields declared once (fields),
table formats (profile), the JSON Schema and its Chinese messages (schema, schema_check), the checks
(validate, lint), self-evaluation scoring (scoring), and the immutable model the renderers consume
(model). Imports nothing above the base modules (diagnostics, resources, looks)."""

"""Free text -> tasks: one in-memory index (`index`), resolution (`resolve`) and autocomplete (`complete`)."""

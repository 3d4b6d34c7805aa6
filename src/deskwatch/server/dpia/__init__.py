"""The data protection impact assessment (DPIA): built from the settings, rendered."""

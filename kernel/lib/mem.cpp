// placeholder, replaced by the lib/mem implementation

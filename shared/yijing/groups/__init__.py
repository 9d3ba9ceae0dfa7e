"""Groups of ten (十户一组): a site's stalls or households, in groups whose members take turns as captain."""

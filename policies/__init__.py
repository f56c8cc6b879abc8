"""Gate policies shipped with harness (YAML); see harness.policy for the schema."""

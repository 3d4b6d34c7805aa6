"""Identity re-confirmation by password: the non-biometric alternative to a face check."""

"""Pure image de-identification: no Beam, no IO."""

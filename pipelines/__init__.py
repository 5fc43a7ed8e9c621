"""What a user launches: the deidflow command, launch rules and the Beam pipeline builders."""

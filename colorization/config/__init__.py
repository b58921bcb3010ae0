"""What a run is: the typed experiment configuration (`experiment`) and the named
presets of the five reports and of the shipped default (`presets`)."""

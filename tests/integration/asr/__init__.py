"""Speech to text: engines, loops, languages, model files, evaluation."""

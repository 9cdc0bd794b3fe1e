"""Speech to text: the engine interface and its two engines, chunking, model files, evaluation."""

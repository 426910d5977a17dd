"""Synthetic Mandarin speech for the mini recipe: sentences, pinyin, espeak-ng synthesis."""

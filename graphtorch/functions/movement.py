"""(placeholder: filled by the op family's author)"""

__all__ = []

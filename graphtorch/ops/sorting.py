"""(placeholder: filled by the op family's author)"""

"""cpualloc: will this kernel fit its platform, and if not, why not and what would fit?"""

__version__ = "0.1.0"
TOOL_NAME = "cpualloc"

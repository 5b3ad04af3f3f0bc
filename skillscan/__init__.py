"""skillscan: supply-chain scanner and pinning registry for AI-agent skills."""

__version__ = "0.1.0"

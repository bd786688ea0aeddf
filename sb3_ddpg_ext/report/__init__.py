"""``sb3-ddpg report``: reads run folders (written by :mod:`sb3_ddpg_ext.experiment`) and writes an interactive page."""

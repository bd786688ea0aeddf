"""What DDPG's critic and actor are doing: value estimate against the true return, update statistics, probe states."""

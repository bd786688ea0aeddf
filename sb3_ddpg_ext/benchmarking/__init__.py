"""
Fair benchmarks of DDPG against SB3's DDPG, TD3, SAC and sb3-contrib's TQC and CrossQ: suites (:mod:`.suite`), runs
through the experiment layer (:mod:`.runner`), statistics with rliable (:mod:`.stats`), reports (:mod:`.report`)
and throughput (:mod:`.throughput`).
The modules are imported where used, so ``sb3-ddpg train`` never loads rliable or pandas.
"""

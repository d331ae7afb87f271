"""The directives systemd accepts in each unit-file section (systemd.directives(7), systemd ~v255, with the
few newer ones real units already use), and the sections each unit type reads.

Deprecated and removed settings that systemd still recognises (``MemoryLimit=``, ``CPUShares=``,
``StartLimitInterval=`` in [Service], ...) are listed too: systemd warns about them by name or maps them
to their successors, but never reports them as unknown keys, so neither do we.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CONDITIONS = _words(
    "Architecture Firmware Virtualization Host KernelCommandLine KernelVersion Credential Environment "
    "Security Capability ACPower NeedsUpdate FirstBoot PathExists PathExistsGlob PathIsDirectory "
    "PathIsSymbolicLink PathIsMountPoint PathIsReadWrite PathIsEncrypted DirectoryNotEmpty FileNotEmpty "
    "FileIsExecutable User Group ControlGroupController Memory CPUs CPUFeature OSRelease MemoryPressure "
    "CPUPressure IOPressure KernelModuleLoaded Version"
)

UNIT = _words(
    "Description Documentation Wants Requires Requisite BindsTo PartOf Upholds Conflicts Before After "
    "OnFailure OnSuccess PropagatesReloadTo ReloadPropagatedFrom PropagatesStopTo StopPropagatedFrom "
    "JoinsNamespaceOf RequiresMountsFor WantsMountsFor OnFailureJobMode OnSuccessJobMode IgnoreOnIsolate "
    "StopWhenUnneeded RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies "
    "SurviveFinalKillSignal CollectMode FailureAction SuccessAction FailureActionExitStatus "
    "SuccessActionExitStatus JobTimeoutSec JobRunningTimeoutSec JobTimeoutAction JobTimeoutRebootArgument "
    "StartLimitIntervalSec StartLimitBurst StartLimitAction RebootArgument SourcePath "
    # old spellings systemd still maps or warns about by name
    "BindTo PropagateReloadTo PropagateReloadFrom OnFailureIsolate IgnoreOnSnapshot StartLimitInterval "
    "RequiresOverridable RequisiteOverridable ConditionNull AssertNull"
) | {p + c for c in _CONDITIONS for p in ("Condition", "Assert")}

INSTALL = _words("WantedBy RequiredBy UpheldBy Alias Also DefaultInstance")

# StartLimitIntervalSec= is deliberately not in [Service]: only the old StartLimitInterval= is read there,
# and systemd ignores the new name, a common mistake.

# systemd.exec(5): services, sockets, mounts and swaps.
EXEC = _words(
    "ExecSearchPath WorkingDirectory RootDirectory RootImage RootImageOptions RootEphemeral RootHash RootHashSignature "
    "RootVerity RootImagePolicy MountImagePolicy ExtensionImagePolicy MountAPIVFS BindLogSockets ProtectProc "
    "ProcSubset BindPaths BindReadOnlyPaths MountImages ExtensionImages ExtensionDirectories User Group "
    "DynamicUser SupplementaryGroups SetLoginEnvironment PAMName CapabilityBoundingSet AmbientCapabilities "
    "NoNewPrivileges SecureBits SELinuxContext AppArmorProfile SmackProcessLabel LimitCPU LimitFSIZE "
    "LimitDATA LimitSTACK LimitCORE LimitRSS LimitNOFILE LimitAS LimitNPROC LimitMEMLOCK LimitLOCKS "
    "LimitSIGPENDING LimitMSGQUEUE LimitNICE LimitRTPRIO LimitRTTIME UMask CoredumpFilter KeyringMode "
    "OOMScoreAdjust TimerSlackNSec Personality IgnoreSIGPIPE Nice CPUSchedulingPolicy CPUSchedulingPriority "
    "CPUSchedulingResetOnFork CPUAffinity NUMAPolicy NUMAMask IOSchedulingClass IOSchedulingPriority "
    "ProtectSystem ProtectHome RuntimeDirectory StateDirectory CacheDirectory LogsDirectory "
    "ConfigurationDirectory RuntimeDirectoryMode StateDirectoryMode CacheDirectoryMode LogsDirectoryMode "
    "ConfigurationDirectoryMode RuntimeDirectoryPreserve TimeoutCleanSec "
    "ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths TemporaryFileSystem PrivateTmp "
    "PrivateDevices PrivateNetwork NetworkNamespacePath PrivateIPC IPCNamespacePath MemoryKSM PrivatePIDs "
    "PrivateUsers ProtectHostname ProtectClock ProtectKernelTunables ProtectKernelModules ProtectKernelLogs "
    "ProtectControlGroups RestrictAddressFamilies RestrictFileSystems RestrictNamespaces "
    "DelegateNamespaces LockPersonality MemoryDenyWriteExecute RestrictRealtime RestrictSUIDSGID RemoveIPC "
    "PrivateMounts MountFlags SystemCallFilter SystemCallErrorNumber SystemCallArchitectures SystemCallLog "
    "Environment EnvironmentFile PassEnvironment UnsetEnvironment StandardInput StandardOutput "
    "StandardError StandardInputText StandardInputData LogLevelMax LogExtraFields LogRateLimitIntervalSec "
    "LogRateLimitBurst LogFilterPatterns LogNamespace SyslogIdentifier SyslogFacility SyslogLevel "
    "SyslogLevelPrefix TTYPath TTYReset TTYVHangup TTYRows TTYColumns TTYVTDisallocate LoadCredential "
    "LoadCredentialEncrypted ImportCredential SetCredential SetCredentialEncrypted UtmpIdentifier UtmpMode "
    # old spellings and removed settings systemd still names
    "ReadOnlyDirectories ReadWriteDirectories InaccessibleDirectories Capabilities"
)

# systemd.kill(5): services, sockets, mounts, swaps and scopes.
KILL = _words(
    "KillMode KillSignal RestartKillSignal SendSIGHUP SendSIGKILL FinalKillSignal WatchdogSignal"
)

# systemd.resource-control(5): slices, scopes, services, sockets, mounts and swaps.
RESOURCE_CONTROL = _words(
    "CPUAccounting CPUWeight StartupCPUWeight CPUQuota CPUQuotaPeriodSec AllowedCPUs StartupAllowedCPUs "
    "AllowedMemoryNodes StartupAllowedMemoryNodes MemoryAccounting MemoryMin MemoryLow StartupMemoryLow "
    "DefaultStartupMemoryLow DefaultMemoryMin DefaultMemoryLow MemoryHigh StartupMemoryHigh MemoryMax "
    "StartupMemoryMax MemorySwapMax StartupMemorySwapMax MemoryZSwapMax StartupMemoryZSwapMax "
    "MemoryZSwapWriteback TasksAccounting TasksMax IOAccounting IOWeight StartupIOWeight IODeviceWeight "
    "IOReadBandwidthMax IOWriteBandwidthMax IOReadIOPSMax IOWriteIOPSMax IODeviceLatencyTargetSec "
    "IPAccounting IPAddressAllow IPAddressDeny SocketBindAllow SocketBindDeny RestrictNetworkInterfaces "
    "NFTSet IPIngressFilterPath IPEgressFilterPath BPFProgram DeviceAllow DevicePolicy Slice Delegate "
    "DelegateSubgroup DisableControllers ManagedOOMSwap ManagedOOMMemoryPressure "
    "ManagedOOMMemoryPressureLimit ManagedOOMMemoryPressureDurationSec ManagedOOMPreference "
    "MemoryPressureWatch MemoryPressureThresholdSec CoredumpReceive "
    # cgroup v1 settings, deprecated or removed, still recognised by name
    "CPUShares StartupCPUShares MemoryLimit BlockIOAccounting BlockIOWeight StartupBlockIOWeight "
    "BlockIODeviceWeight BlockIOReadBandwidth BlockIOWriteBandwidth NetClass"
)

_SHARED = EXEC | KILL | RESOURCE_CONTROL

SERVICE = _SHARED | _words(
    "Type ExitType RemainAfterExit GuessMainPID PIDFile BusName ExecStart ExecStartPre ExecStartPost "
    "ExecCondition ExecReload ExecStop ExecStopPost RestartSec RestartSteps RestartMaxDelaySec "
    "TimeoutStartSec TimeoutStopSec TimeoutAbortSec TimeoutSec TimeoutStartFailureMode "
    "TimeoutStopFailureMode RuntimeMaxSec RuntimeRandomizedExtraSec WatchdogSec Restart RestartMode "
    "SuccessExitStatus RestartPreventExitStatus RestartForceExitStatus RootDirectoryStartOnly NonBlocking "
    "NotifyAccess Sockets FileDescriptorStoreMax FileDescriptorStorePreserve USBFunctionDescriptors "
    "USBFunctionStrings OOMPolicy OpenFile ReloadSignal "
    # compatibility: [Unit] settings once set here, and removed ones systemd still names
    "PermissionsStartOnly StartLimitInterval StartLimitBurst StartLimitAction "
    "FailureAction RebootArgument SysVStartPriority BusPolicy"
)

SOCKET = _SHARED | _words(
    "ListenStream ListenDatagram ListenSequentialPacket ListenFIFO ListenSpecial ListenNetlink "
    "ListenMessageQueue ListenUSBFunction SocketProtocol BindIPv6Only Backlog BindToDevice SocketUser "
    "SocketGroup SocketMode DirectoryMode Accept Writable FlushPending MaxConnections "
    "MaxConnectionsPerSource KeepAlive KeepAliveTimeSec KeepAliveIntervalSec KeepAliveProbes NoDelay "
    "Priority DeferAcceptSec ReceiveBuffer SendBuffer IPTOS IPTTL Mark ReusePort SmackLabel SmackLabelIPIn "
    "SmackLabelIPOut SELinuxContextFromNet PipeSize MessageQueueMaxMessages MessageQueueMessageSize "
    "FreeBind Transparent Broadcast PassCredentials PassPIDFD PassSecurity PassPacketInfo "
    "Timestamping TCPCongestion ExecStartPre ExecStartPost ExecStopPre ExecStopPost TimeoutSec Service "
    "RemoveOnStop Symlinks FileDescriptorName TriggerLimitIntervalSec TriggerLimitBurst "
    "PollLimitIntervalSec PollLimitBurst PassFileDescriptorsToExec DeferTrigger DeferTriggerMaxSec"
)

MOUNT = _SHARED | _words(
    "What Where Type Options SloppyOptions LazyUnmount ReadWriteOnly ForceUnmount DirectoryMode TimeoutSec"
)

AUTOMOUNT = _words("Where ExtraOptions DirectoryMode TimeoutIdleSec")

SWAP = _SHARED | _words("What Priority Options TimeoutSec")

PATH = _words(
    "PathExists PathExistsGlob PathChanged PathModified DirectoryNotEmpty Unit MakeDirectory DirectoryMode "
    "TriggerLimitIntervalSec TriggerLimitBurst"
)

TIMER = _words(
    "OnActiveSec OnBootSec OnStartupSec OnUnitActiveSec OnUnitInactiveSec OnCalendar AccuracySec "
    "RandomizedDelaySec RandomizedOffsetSec FixedRandomDelay DeferReactivation OnClockChange "
    "OnTimezoneChange Unit Persistent WakeSystem RemainAfterElapse"
)

SLICE = RESOURCE_CONTROL

SCOPE = RESOURCE_CONTROL | KILL | _words(
    "RuntimeMaxSec RuntimeRandomizedExtraSec TimeoutStopSec OOMPolicy"
)

# section -> the keys systemd accepts there
DIRECTIVES: dict[str, frozenset[str]] = {
    "Unit": UNIT,
    "Install": INSTALL,
    "Service": SERVICE,
    "Socket": SOCKET,
    "Mount": MOUNT,
    "Automount": AUTOMOUNT,
    "Swap": SWAP,
    "Path": PATH,
    "Timer": TIMER,
    "Slice": SLICE,
    "Scope": SCOPE,
}

# Where to point a key found in the wrong section: the section a unit most often means.
SECTIONS_BY_PREFERENCE = (
    "Unit", "Install", "Service", "Socket", "Timer", "Mount", "Path", "Swap", "Automount", "Slice", "Scope"
)

# unit type (file suffix) -> the sections systemd reads in it
SECTIONS: dict[str, tuple[str, ...]] = {
    "service": ("Unit", "Service", "Install"),
    "socket": ("Unit", "Socket", "Install"),
    "mount": ("Unit", "Mount", "Install"),
    "automount": ("Unit", "Automount", "Install"),
    "swap": ("Unit", "Swap", "Install"),
    "path": ("Unit", "Path", "Install"),
    "timer": ("Unit", "Timer", "Install"),
    "slice": ("Unit", "Slice", "Install"),
    "scope": ("Unit", "Scope", "Install"),
    "target": ("Unit", "Install"),
    "device": ("Unit", "Install"),
}

# Podman Quadlet files (containers/podman's quadlet(5)): unit files whose own section quadlet turns into
# a [Service]; their [Unit]/[Service]/[Install] are passed through to the generated unit.
QUADLET_SECTIONS: dict[str, str] = {
    "container": "Container",
    "volume": "Volume",
    "network": "Network",
    "kube": "Kube",
    "pod": "Pod",
    "image": "Image",
    "build": "Build",
    "artifact": "Artifact",
}

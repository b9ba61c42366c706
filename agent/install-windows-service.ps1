# Installs (or, with -Uninstall, removes) the Alto agent as a Windows service, in an elevated PowerShell.
#
#   Install:    .\install-windows-service.ps1 -PackageDir .\alto-agent-0.1.0-win-x64 -LicenseKey <EaseFilter key> `
#                   -CloudTierSdkDir 'C:\EaseFilter\CloudTier' -Gateway https://gateway:8080 -Grpc https://gateway:8081 -Token alto_enroll_...
#   Uninstall:  .\install-windows-service.ps1 -Uninstall            (add -RemoveState to delete the credential and state too)
#
# What it does, in order (each step says what it did; any failure stops the script):
#   1. copies the agent into InstallDir (Program Files) and, from the EaseFilter CloudTier SDK, FilterAPI.dll beside alto-agent.exe;
#   2. installs and starts the CloudTier driver (cloudtier.inf from the SDK) unless it is running already;
#   3. creates StateDir (ProgramData) with an ACL for SYSTEM and Administrators only, and writes the license key there;
#   4. enrolls the host with the one-time token (skipped when StateDir already holds a credential);
#   5. registers the service AltoAgent (automatic start, restart on failure) and starts it.
# The SDK is EaseFilter's and is not redistributed with Alto: download it from EaseFilter with a license.
[CmdletBinding(DefaultParameterSetName = 'Install')]
param(
    [Parameter(ParameterSetName = 'Install')] [string]$PackageDir = $PSScriptRoot,
    [Parameter(ParameterSetName = 'Install')] [string]$CloudTierSdkDir,
    [Parameter(ParameterSetName = 'Install')] [string]$LicenseKey,
    [Parameter(ParameterSetName = 'Install')] [string]$Gateway,
    [Parameter(ParameterSetName = 'Install')] [string]$Grpc,
    [Parameter(ParameterSetName = 'Install')] [string]$Token,
    [Parameter(ParameterSetName = 'Uninstall', Mandatory = $true)] [switch]$Uninstall,
    [Parameter(ParameterSetName = 'Uninstall')] [switch]$RemoveState,
    [string]$InstallDir = "$env:ProgramFiles\Alto Agent",
    [string]$StateDir = "$env:ProgramData\AltoAgent"
)
$ErrorActionPreference = 'Stop'
$ServiceName = 'AltoAgent'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'run this script in an elevated PowerShell (as Administrator)'
}

if ($Uninstall) {
    $service = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
    if ($service) {
        if ($service.Status -ne 'Stopped') { Stop-Service -Name $ServiceName -Force; Write-Host "stopped $ServiceName" }
        sc.exe delete $ServiceName | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "sc.exe delete $ServiceName failed ($LASTEXITCODE)" }
        Write-Host "removed the service $ServiceName"
    }
    # The CloudTier driver stays: stubs already made need it to be recalled. Recall every stub first
    # (the console's recall by folder) before removing the driver with the SDK's uninstaller.
    if (Test-Path $InstallDir) { Remove-Item -Recurse -Force $InstallDir; Write-Host "removed $InstallDir" }
    if ($RemoveState -and (Test-Path $StateDir)) { Remove-Item -Recurse -Force $StateDir; Write-Host "removed $StateDir (credential, journal, reports)" }
    elseif (Test-Path $StateDir) { Write-Host "kept $StateDir (the credential and the journal); -RemoveState deletes it" }
    return
}

foreach ($required in 'CloudTierSdkDir', 'LicenseKey') {
    if (-not $PSBoundParameters.ContainsKey($required)) { throw "-$required is needed to install" }
}
$exe = Join-Path $PackageDir 'alto-agent.exe'
if (-not (Test-Path $exe)) { throw "alto-agent.exe not found in $PackageDir (unpack alto-agent-<version>-win-x64.zip from scripts/package.sh)" }
$filterApi = Join-Path $CloudTierSdkDir 'FilterAPI.dll'
$driverInf = Get-ChildItem -Path $CloudTierSdkDir -Filter 'cloudtier*.inf' -Recurse | Select-Object -First 1
if (-not (Test-Path $filterApi)) { throw "FilterAPI.dll not found in $CloudTierSdkDir (the EaseFilter CloudTier SDK)" }
if (-not $driverInf) { throw "no cloudtier .inf found below $CloudTierSdkDir (the EaseFilter CloudTier SDK)" }

# 1. The program and the SDK's user-mode library.
$existing = Get-Service -Name $ServiceName -ErrorAction SilentlyContinue
if ($existing -and $existing.Status -ne 'Stopped') { Stop-Service -Name $ServiceName -Force; Write-Host "stopped $ServiceName for the upgrade" }
New-Item -ItemType Directory -Force -Path $InstallDir | Out-Null
Copy-Item -Path (Join-Path $PackageDir '*') -Destination $InstallDir -Recurse -Force
Copy-Item -Path $filterApi -Destination $InstallDir -Force
Write-Host "installed the agent and FilterAPI.dll in $InstallDir"

# 2. The minifilter driver.
$driverName = [IO.Path]::GetFileNameWithoutExtension($driverInf.Name)
$loaded = (fltmc.exe filters) -match "^\s*$driverName\s"
if (-not $loaded) {
    pnputil.exe /add-driver $driverInf.FullName /install | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "pnputil could not install $($driverInf.Name) ($LASTEXITCODE)" }
    fltmc.exe load $driverName | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "fltmc could not load $driverName ($LASTEXITCODE)" }
    Write-Host "installed and loaded the CloudTier driver $driverName"
} else {
    Write-Host "the CloudTier driver $driverName is loaded already"
}

# 3. The state folder: SYSTEM and Administrators only (the agent sets the same ACL when it creates the folder itself).
New-Item -ItemType Directory -Force -Path $StateDir | Out-Null
icacls.exe $StateDir /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' | Out-Null
if ($LASTEXITCODE -ne 0) { throw "icacls could not restrict $StateDir ($LASTEXITCODE)" }
Set-Content -Path (Join-Path $StateDir 'cloudtier.license') -Value $LicenseKey -NoNewline
Write-Host "restricted $StateDir to SYSTEM and Administrators and stored the license key there"

# 4. Enrollment, once.
$agent = Join-Path $InstallDir 'alto-agent.exe'
if (-not (Test-Path (Join-Path $StateDir 'credential.json'))) {
    foreach ($required in 'Gateway', 'Grpc', 'Token') {
        if (-not $PSBoundParameters.ContainsKey($required)) { throw "-$required is needed to enroll this host (no credential in $StateDir yet)" }
    }
    & $agent enroll --gateway $Gateway --grpc $Grpc --token $Token --state-dir $StateDir
    if ($LASTEXITCODE -ne 0) { throw "enrollment failed ($LASTEXITCODE)" }
}

# 5. The service.
if (-not $existing) {
    New-Service -Name $ServiceName -DisplayName 'Alto tiered-storage agent' -StartupType Automatic `
        -BinaryPathName "`"$agent`" run --state-dir `"$StateDir`"" -Description 'Scans, tiers and recalls files for Alto.' | Out-Null
    # Restart after a failure (5 s, three times a day at most); a refused credential (exit 3) still needs an admin.
    sc.exe failure $ServiceName reset= 86400 actions= restart/5000/restart/5000/restart/5000 | Out-Null
    Write-Host "registered the service $ServiceName"
}
Start-Service -Name $ServiceName
Get-Service -Name $ServiceName

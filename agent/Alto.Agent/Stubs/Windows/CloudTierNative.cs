using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Alto.Agent.Stubs.Windows;

/// <summary>
/// The EaseFilter CloudTier driver through its user-mode library FilterAPI.dll (Windows only).
/// The SDK is not on any package registry: install it from EaseFilter (cloudtier.sys, FilterAPI.dll
/// beside alto-agent.exe, the driver installed and loaded, a license key) -- see the README. The
/// message layouts below follow the SDK's documented FilterAPI.h. A copy of the tag data is kept
/// in the stub's alternate data stream <c>alto.stub</c>, so the agent can tell a stub and read
/// its facts without touching the main stream (which would make the driver recall it).
/// </summary>
[SupportedOSPlatform("windows")]
public sealed unsafe partial class CloudTierNative(string licenseKey, int threads = 4) : ICloudTierFilter
{
    private const int MaxFileName = 1024;
    private const int MaxSid = 256;
    private const int MaxMessage = 65536;
    private const string TagStream = ":alto.stub";

    private Func<CloudTierRequest, Task<CloudTierReply>>? _handler;
    private FilterCallback? _callback;
    private DisconnectCallback? _disconnected;
    private GCHandle _callbackHandle;
    private GCHandle _disconnectHandle;

    public void CreateStub(string path, long size, byte[] tagData, DateTimeOffset created, DateTimeOffset lastWrite, DateTimeOffset lastAccess)
    {
        fixed (byte* tag = tagData)
        {
            if (!CreateStubFileEx(path, size, CloudTierProtocol.FileAttributeOffline | CloudTierProtocol.FileAttributeRecallOnDataAccess,
                    (uint)tagData.Length, tag, (ulong)created.ToFileTime(), (ulong)lastWrite.ToFileTime(), (ulong)lastAccess.ToFileTime(),
                    overwriteIfExist: true, out var handle))
            {
                throw new IOException($"the CloudTier driver could not make {path} a stub (error {Marshal.GetLastPInvokeError()})");
            }
            CloseHandle(handle);
        }
        File.WriteAllBytes(path + TagStream, tagData);
    }

    public byte[]? ReadTag(string path)
    {
        if ((File.GetAttributes(path) & (FileAttributes)CloudTierProtocol.FileAttributeOffline) == 0)
        {
            return null;
        }
        try
        {
            return File.ReadAllBytes(path + TagStream);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    public Task HydrateAsync(string path, CancellationToken cancellationToken) => DataAccess.TouchAsync(path, cancellationToken);

    public void Connect(Func<CloudTierRequest, Task<CloudTierReply>> handler)
    {
        _handler = handler;
        _callback = OnMessage;
        _disconnected = () => { };
        _callbackHandle = GCHandle.Alloc(_callback);
        _disconnectHandle = GCHandle.Alloc(_disconnected);
        if (!SetRegistrationKey(licenseKey)
            || !RegisterMessageCallback(threads, Marshal.GetFunctionPointerForDelegate(_callback), Marshal.GetFunctionPointerForDelegate(_disconnected)))
        {
            throw new InvalidOperationException($"the CloudTier driver did not accept the connection (error {Marshal.GetLastPInvokeError()}); is it installed and loaded?");
        }
    }

    public void Disconnect()
    {
        DisconnectFilter();
        if (_callbackHandle.IsAllocated)
        {
            _callbackHandle.Free();
            _disconnectHandle.Free();
        }
    }

    /// <summary>The driver's thread waits for the answer: the request is handled to the end here.</summary>
    private bool OnMessage(nint sendData, nint replyData)
    {
        var send = (MessageSendData*)sendData;
        var reply = (MessageReplyData*)replyData;
        var request = new CloudTierRequest(
            send->MessageId, send->MessageType, new string(send->FileName, 0, (int)Math.Min(send->FileNameLength / 2, MaxFileName)),
            send->Offset, send->Length, send->FileSize, new ReadOnlySpan<byte>(send->DataBuffer, (int)Math.Min(send->DataBufferLength, MaxMessage)).ToArray());
#pragma warning disable VSTHRD002 // A driver thread with no synchronization context; it must block until the answer is ready.
        var answer = _handler!(request).GetAwaiter().GetResult();
#pragma warning restore VSTHRD002
        reply->MessageId = send->MessageId;
        reply->MessageType = send->MessageType;
        reply->ReturnStatus = answer.ReturnStatus;
        reply->FilterStatus = answer.FilterStatus;
        reply->DataBufferLength = (uint)Math.Min(answer.Data.Length, MaxMessage);
        answer.Data.AsSpan(0, (int)reply->DataBufferLength).CopyTo(new Span<byte>(reply->DataBuffer, MaxMessage));
        return true;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageSendData
    {
        public uint MessageId;
        public nint FileObject;
        public nint FsContext;
        public uint MessageType;
        public uint ProcessId;
        public uint ThreadId;
        public long Offset;
        public uint Length;
        public long FileSize;
        public long TransactionTime;
        public long CreationTime;
        public long LastAccessTime;
        public long LastWriteTime;
        public uint FileAttributes;
        public uint DesiredAccess;
        public uint Disposition;
        public uint SharedAccess;
        public uint CreateOptions;
        public uint CreateStatus;
        public uint InfoClass;
        public uint Status;
        public uint FileNameLength;
        public fixed char FileName[MaxFileName];
        public uint SidLength;
        public fixed byte Sid[MaxSid];
        public uint DataBufferLength;
        public fixed byte DataBuffer[MaxMessage];
        public uint VerificationNumber;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MessageReplyData
    {
        public uint MessageId;
        public uint MessageType;
        public uint ReturnStatus;
        public uint FilterStatus;
        public uint DataBufferLength;
        public fixed byte DataBuffer[MaxMessage];
    }

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private delegate bool FilterCallback(nint sendData, nint replyData);

    [UnmanagedFunctionPointer(CallingConvention.Winapi)]
    private delegate void DisconnectCallback();

    [LibraryImport("FilterAPI.dll", SetLastError = true, StringMarshalling = StringMarshalling.Utf16)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CreateStubFileEx(string fileName, long fileSize, uint fileAttributes, uint tagDataLength, byte* tagData,
        ulong creationTime, ulong lastWriteTime, ulong lastAccessTime, [MarshalAs(UnmanagedType.Bool)] bool overwriteIfExist, out nint handle);

    [LibraryImport("FilterAPI.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool RegisterMessageCallback(int threadCount, nint filterCallback, nint disconnectCallback);

    [LibraryImport("FilterAPI.dll", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool SetRegistrationKey(string key);

    [LibraryImport("FilterAPI.dll", EntryPoint = "Disconnect", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool DisconnectFilter();

    [LibraryImport("kernel32.dll", SetLastError = true)]
    [return: MarshalAs(UnmanagedType.Bool)]
    private static partial bool CloseHandle(nint handle);
}
